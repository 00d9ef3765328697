# mistake: MyLinear registers a bias but forward leaves it out
# expect: MyLinear=1
# feedback: the bias is left out
# cause: missing-bias
class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units))

    def forward(self, X):
        return F.relu(X @ self.weight)
