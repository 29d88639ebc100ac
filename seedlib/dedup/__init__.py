"""Deduplication: exact (SHA-256) and near (MinHash), at repository and file level.

- `order`       the keeper order: which copy of a duplicate group is kept (a total order, so the choice
                never depends on partitioning or run order).
- `minhash`     shingles, signatures (datasketch's affine32 permutations applied to whole Arrow batches),
                LSH bands and signature verification: pure functions on arrays, unit-tested without Spark.
- `components`  connected components on Spark (large-star / small-star, Kiveris et al. 2014).
- `index`       the persisted dedup index: every published snapshot's files (hashes, signatures) as a
                dataset of its manifest; later snapshots drop what it already holds.
- `plan`        the Spark plans of the two stages: load the input parts, decide globally, and write
                each input part's kept files and ledger rows under the same part index.
"""
