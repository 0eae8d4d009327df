# datasketch peer: MinHash.bulk (update_batch under the hood) + MinHashLSH(params=(14, 8)),
# query every doc and union its candidates; blend's shingles; flags all but the first per cluster.
from datasketch import MinHash, MinHashLSH

import common as c


def signatures(shingle_lists):
    encoded = [[s.encode("utf-8") for s in sh] for sh in shingle_lists]
    start = c.clock()
    sigs = MinHash.bulk(encoded, num_perm=c.NUM_PERM, seed=c.SEED)
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
    lsh = MinHashLSH(num_perm=c.NUM_PERM, params=(c.BANDS, c.ROWS))
    with lsh.insertion_session() as session:
        for key, sig in enumerate(sigs):
            session.insert(key, sig)
    uf = c.KeepFirst(len(lists))
    for key, sig in enumerate(sigs):
        for other in lsh.query(sig):
            uf.union(rows[key], rows[other])
    c.write_flagged(out, len(lists), uf.flagged())
