# mistake: MyLinear's forward detaches the weight, so the weight gets no gradient
# expect: MyLinear=3
# feedback: no gradient reached the Parameter MyLinear.weight
# cause: no-gradient-to-parameter
class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units))

    def forward(self, X):
        return F.relu(X @ self.weight.detach() + self.bias)
