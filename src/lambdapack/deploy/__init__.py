"""Deploying built artifacts to AWS Lambda: publish layers and update functions only when their bytes changed."""
