# mistake: CenteredLayer ignores dim
# expect: CenteredLayer=1.5
# feedback: ignores dim
# cause: ignores-dim
class CenteredLayer(nn.Module):
    def __init__(self, dim=None):
        super().__init__()

    def forward(self, X):
        return X - X.mean()
