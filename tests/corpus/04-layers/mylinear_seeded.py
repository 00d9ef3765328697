# mistake: MyLinear reseeds the random generator in __init__, so every layer draws the same weights
# expect: MyLinear=4
# feedback: built one after the other hold the same weight
class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        torch.manual_seed(42)
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units))

    def forward(self, X):
        return F.relu(X @ self.weight + self.bias)
