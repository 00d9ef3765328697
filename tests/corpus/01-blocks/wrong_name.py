# mistake: MySequential defined under another name
# expect: MySequential=0
# remove: MySequential
# feedback: `MySequential` is not defined in blocks.py
class MySeq(nn.Module):
    def __init__(self, *modules):
        super().__init__()
        for index, module in enumerate(modules):
            self.add_module(str(index), module)

    def forward(self, X):
        for module in self._modules.values():
            X = module(X)
        return X
