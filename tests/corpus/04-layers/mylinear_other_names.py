# mistake: MyLinear names its Parameters W and b instead of weight and bias
# expect: MyLinear=0
# feedback: registers [['W', [64, 128]], ['b', [128]]]
# feedback: object has no attribute 'weight'
class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.W = nn.Parameter(torch.randn(in_units, units))
        self.b = nn.Parameter(torch.randn(units))

    def forward(self, X):
        return F.relu(X @ self.W + self.b)
