# mistake: MyLinear leaves out the ReLU
# expect: MyLinear=1
# feedback: the ReLU is missing
# cause: missing-relu
class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units))

    def forward(self, X):
        return X @ self.weight + self.bias
