# mistake: MyLinear stores weight as (units, in_units)
# expect: MyLinear=4
# feedback: expected Parameters weight of shape (64, 128)
class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(units, in_units))
        self.bias = nn.Parameter(torch.randn(units))

    def forward(self, X):
        return F.relu(X @ self.weight.T + self.bias)
