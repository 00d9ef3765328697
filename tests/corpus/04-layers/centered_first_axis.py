# mistake: CenteredLayer always subtracts the mean along dimension 0
# expect: CenteredLayer=0
# feedback: equals X - X.mean(0, keepdim=True)
# cause: mean-along-a-dimension
class CenteredLayer(nn.Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, X):
        return X - X.mean(0, keepdim=True)
