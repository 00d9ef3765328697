# mistake: MyLinear uses self.weight.data in forward, so no gradient flows
# expect: MyLinear=3
# feedback: no gradient reached the Parameter MyLinear.weight
# cause: no-gradient-to-parameter
# feedback: Use the Parameters themselves in `forward`
class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units,))

    def forward(self, X):
        linear = torch.matmul(X, self.weight.data) + self.bias.data
        return F.relu(linear)
