# mistake: CenteredLayer subtracts the mean from its input in place and returns it
# expect: CenteredLayer=0.5
# feedback: was changed in place by your code
# feedback: the gradient of sum(G * CenteredLayer()(X)) with respect to X is G itself
# cause: detached-mean
class CenteredLayer(nn.Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, X):
        with torch.no_grad():
            X -= X.mean() if self.dim is None else X.mean(self.dim, keepdim=True)
        return X
