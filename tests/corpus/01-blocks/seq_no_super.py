# mistake: MySequential forgets super().__init__()
# expect: MySequential=0
# feedback: Call `super().__init__()` first thing in `__init__`
class MySequential(nn.Module):
    def __init__(self, *modules):
        for index, module in enumerate(modules):
            self.add_module(str(index), module)

    def forward(self, X):
        for module in self._modules.values():
            X = module(X)
        return X

    def __len__(self):
        return len(self._modules)

    def __getitem__(self, index):
        return list(self._modules.values())[index]
