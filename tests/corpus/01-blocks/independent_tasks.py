# mistake: a broken MySequential must not cost replicate its points
# expect: MySequential=0
# feedback: MySequential.__init__ is not implemented yet
class MySequential(nn.Module):
    def __init__(self, *modules):
        raise NotImplementedError("MySequential.__init__ is not implemented yet")
