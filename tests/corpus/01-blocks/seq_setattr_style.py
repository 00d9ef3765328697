# mistake: none: setattr(self, str(i), m) registers through nn.Module.__setattr__
# expect: full
class MySequential(nn.Module):
    def __init__(self, *modules):
        super().__init__()
        for index, module in enumerate(modules):
            setattr(self, str(index), module)

    def forward(self, X):
        return functools.reduce(lambda h, module: module(h), self._modules.values(), X)

    def __len__(self):
        return len(self._modules)

    def __getitem__(self, index):
        return tuple(self._modules.values())[index]


import functools
