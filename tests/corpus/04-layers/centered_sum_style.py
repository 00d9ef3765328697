# mistake: none: a sum divided by the count, and X.sub
# expect: full
class CenteredLayer(nn.Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, X):
        if self.dim is None:
            return X.sub(X.sum() / X.numel())
        return X.sub(X.sum(dim=self.dim, keepdim=True) / X.shape[self.dim])
