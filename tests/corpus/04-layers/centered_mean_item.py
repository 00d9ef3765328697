# mistake: CenteredLayer subtracts X.mean().item(), a Python number: the values are right, but the mean is cut off from autograd
# expect: CenteredLayer=2.5
# feedback: the gradient of sum(G * CenteredLayer()(X)) with respect to X is G itself
# cause: detached-mean
class CenteredLayer(nn.Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, X):
        if self.dim is None:
            return X - X.mean().item()
        return X - X.mean(self.dim, keepdim=True)
