# mistake: CenteredLayer takes the mean along dim without keepdim
# expect: CenteredLayer=1.5
# feedback: CenteredLayer(dim=
class CenteredLayer(nn.Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, X):
        return X - (X.mean() if self.dim is None else X.mean(self.dim))
