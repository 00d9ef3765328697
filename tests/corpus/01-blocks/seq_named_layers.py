# mistake: modules registered under names of its own ("layer0", ...) instead of "0", "1", ...
# expect: MySequential=3
# feedback: register the i-th module under str(i)
class MySequential(nn.Module):
    def __init__(self, *modules):
        super().__init__()
        for index, module in enumerate(modules):
            self.add_module(f"layer{index}", module)

    def forward(self, X):
        for module in self._modules.values():
            X = module(X)
        return X

    def __len__(self):
        return len(self._modules)

    def __getitem__(self, index):
        return list(self._modules.values())[index]
