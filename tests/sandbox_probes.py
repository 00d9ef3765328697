"""Probes for the sandbox's own tests: each calls one function of the test's student module."""

from autograder.probing import probe


@probe
def first(sub):
    return sub.f()


@probe
def second(sub):
    return sub.g()


@probe(timeout=1)
def quick(sub):
    return sub.f()


@probe
def on_device(sub, device):
    return {"device": str(device), "value": sub.f()}
