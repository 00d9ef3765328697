# mistake: none: the book's class plus a dim, with torch.mean
# expect: full
class CenteredLayer(nn.Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, X):
        if self.dim is not None:
            return X - torch.mean(X, dim=self.dim, keepdim=True)
        return X - torch.mean(X)
