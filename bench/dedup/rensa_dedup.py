# rensa peer: RMinHash.from_token_sets (batched, Rust) + RMinHashLSH(num_bands=14) insert_many /
# query_all, union of all candidates; blend's shingles; flags all but the first per cluster.
from rensa import RMinHash, RMinHashLSH

import common as c


def signatures(shingle_lists):
    start = c.clock()
    sigs = RMinHash.from_token_sets(shingle_lists, c.NUM_PERM, c.SEED)
    return sigs, c.clock() - start


def candidate_pairs(sigs):
    # threshold is only used by is_similar; candidates come from the 14 bands of 8 rows
    lsh = RMinHashLSH(threshold=0.5, num_perm=c.NUM_PERM, num_bands=c.BANDS)
    lsh.insert_many(sigs)
    for key, candidates in enumerate(lsh.query_all(sigs)):
        for other in candidates:
            yield key, other


c.run_peer(signatures, candidate_pairs)
