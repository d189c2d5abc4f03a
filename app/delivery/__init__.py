"""Delivery records shared by the policy facts and the pipeline: suppressions and sends."""
