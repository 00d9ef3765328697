# mistake: MyLinear adds the bias after the ReLU
# expect: MyLinear=1
# feedback: add the bias before the ReLU
# cause: bias-after-relu
class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units))

    def forward(self, X):
        return F.relu(X @ self.weight) + self.bias
