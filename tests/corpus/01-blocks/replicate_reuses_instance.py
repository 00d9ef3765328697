# mistake: replicate calls factory() once and reuses the instance n times
# expect: replicate=2
# feedback: holds that one instance
# cause: reused-instance
def replicate(factory, n):
    if n < 1:
        raise ValueError("n must be positive")
    module = factory()
    return MySequential(*[module] * n)
