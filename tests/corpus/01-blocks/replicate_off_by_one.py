# mistake: replicate makes n - 1 modules (range(1, n)); the feedback must not call it a reused instance
# expect: replicate=1
# feedback: holds 2 modules, expected 3
# feedback: called factory() 2 time(s)
def replicate(factory, n):
    if n < 1:
        raise ValueError("n must be positive")
    return MySequential(*[factory() for _ in range(1, n)])
