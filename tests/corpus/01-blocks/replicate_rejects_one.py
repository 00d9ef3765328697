# mistake: replicate refuses n = 1 (the check is n <= 1)
# expect: replicate=2
# feedback: replicate(factory, 1) raised ValueError
def replicate(factory, n):
    if n <= 1:
        raise ValueError(f"n must be at least 1, got {n}")
    return MySequential(*(factory() for _ in range(n)))
