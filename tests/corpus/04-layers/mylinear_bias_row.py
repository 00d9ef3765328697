# mistake: MyLinear keeps bias as (1, units) (forward broadcasts it: only the shape check fails)
# expect: MyLinear=4
# feedback: bias of shape (128,)
class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(1, units))

    def forward(self, X):
        return F.relu(X @ self.weight + self.bias)
