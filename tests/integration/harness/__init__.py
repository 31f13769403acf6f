"""Shared integration-test harness: a CRI client made from proto/ with grpcio, a mascrid
launcher, and the local registry with test images."""
