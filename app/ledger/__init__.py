"""The consent ledger: Merkle tree, canonical records, checkpoints, proofs and receipts."""
