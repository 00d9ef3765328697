# mistake: replicate returns an nn.Sequential instead of a MySequential
# expect: replicate=2
# feedback: replicate should return a MySequential
def replicate(factory, n):
    if n < 1:
        raise ValueError("n must be positive")
    return nn.Sequential(*[factory() for _ in range(n)])
