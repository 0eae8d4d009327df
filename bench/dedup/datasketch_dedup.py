# datasketch peer: MinHash.bulk (update_batch under the hood) + MinHashLSH(params=(14, 8)),
# query every doc and union its candidates; blend's shingles; flags all but the first per cluster.
from datasketch import MinHash, MinHashLSH

import common as c


def signatures(shingle_lists):
    encoded = [[s.encode("utf-8") for s in sh] for sh in shingle_lists]
    start = c.clock()
    sigs = MinHash.bulk(encoded, num_perm=c.NUM_PERM, seed=c.SEED)
    return sigs, c.clock() - start


def candidate_pairs(sigs):
    lsh = MinHashLSH(num_perm=c.NUM_PERM, params=(c.BANDS, c.ROWS))
    with lsh.insertion_session() as session:
        for key, sig in enumerate(sigs):
            session.insert(key, sig)
    for key, sig in enumerate(sigs):
        for other in lsh.query(sig):
            yield key, other


c.run_peer(signatures, candidate_pairs)
