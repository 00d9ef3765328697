# mistake: none: _modules[str(i)] = m, a while loop, an iterator and a helper method
# expect: full
class MySequential(nn.Module):
    def __init__(self, *modules):
        super().__init__()
        i = 0
        while i < len(modules):
            self._modules[str(i)] = modules[i]
            i += 1

    def _blocks(self):
        return [self._modules[key] for key in self._modules]

    def forward(self, X):
        for block in iter(self._blocks()):
            X = block(X)
        return X

    def __len__(self):
        return len(self._blocks())

    def __getitem__(self, index):
        blocks = self._blocks()
        if not -len(blocks) <= index < len(blocks):
            raise IndexError(f"index {index} is out of range")
        return blocks[index]
