# rensa peer: RMinHash.from_token_sets (batched, Rust) + RMinHashLSH(num_bands=14) insert_many /
# query_all, union of all candidates; blend's shingles; flags all but the first per cluster.
from rensa import RMinHash, RMinHashLSH

import common as c


def signatures(shingle_lists):
    start = c.clock()
    sigs = RMinHash.from_token_sets(shingle_lists, c.NUM_PERM, c.SEED)
    return sigs, c.clock() - start


mode, out, inputs = c.args()
if mode == "sign":
    lists, text_bytes = c.load_shingled(inputs)
    _, seconds = signatures([sh for sh in lists if sh])
    c.report_sign(seconds, text_bytes)
else:
    lists = [c.shingles(text) for _, text in c.read_docs(inputs)]
    rows = [i for i, sh in enumerate(lists) if sh]  # docs with no words are never duplicates
    sigs, _ = signatures([lists[i] for i in rows])
    # threshold is only used by is_similar; candidates come from the 14 bands of 8 rows
    lsh = RMinHashLSH(threshold=0.5, num_perm=c.NUM_PERM, num_bands=c.BANDS)
    lsh.insert_many(sigs)
    uf = c.KeepFirst(len(lists))
    for key, candidates in enumerate(lsh.query_all(sigs)):
        for other in candidates:
            uf.union(rows[key], rows[other])
    c.write_flagged(out, len(lists), uf.flagged())
