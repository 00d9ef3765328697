# mistake: forward iterates self.children(), which skips a module added twice
# expect: MySequential=4
# feedback: self.children() and sets list a module once
# cause: shared-runs-once
class MySequential(nn.Module):
    def __init__(self, *modules):
        super().__init__()
        for index, module in enumerate(modules):
            self.add_module(str(index), module)

    def forward(self, X):
        for module in self.children():
            X = module(X)
        return X

    def __len__(self):
        return len(self._modules)

    def __getitem__(self, index):
        return list(self._modules.values())[index]
