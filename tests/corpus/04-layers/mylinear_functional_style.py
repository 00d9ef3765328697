# mistake: none: F.linear on the transposed weight, torch.relu
# expect: full
class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(size=(in_units, units)))
        self.bias = nn.Parameter(torch.randn(size=(units,)))

    def forward(self, X):
        return torch.relu(F.linear(X, self.weight.T, self.bias))
