# mistake: __getitem__ looks modules up by str(index): negative indices fail
# expect: MySequential=4
# feedback: negative indices count from the end
class MySequential(nn.Module):
    def __init__(self, *modules):
        super().__init__()
        for index, module in enumerate(modules):
            self.add_module(str(index), module)

    def forward(self, X):
        for module in self._modules.values():
            X = module(X)
        return X

    def __len__(self):
        return len(self._modules)

    def __getitem__(self, index):
        return self._modules[str(index)]
