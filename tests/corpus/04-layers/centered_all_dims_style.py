# mistake: none: one mean over a tuple of dimensions (all of them when dim is None)
# expect: full
class CenteredLayer(nn.Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, X):
        dims = tuple(range(X.dim())) if self.dim is None else self.dim
        return X - torch.mean(X, dim=dims, keepdim=True)
