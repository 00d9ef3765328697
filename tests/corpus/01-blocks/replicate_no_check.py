# mistake: replicate accepts n < 1
# expect: replicate=2
# feedback: should raise ValueError
def replicate(factory, n):
    return MySequential(*(factory() for _ in range(n)))
