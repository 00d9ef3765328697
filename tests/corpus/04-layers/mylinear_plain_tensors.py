# mistake: MyLinear keeps plain tensors, not Parameters
# expect: MyLinear=2
# feedback: MyLinear(64, 128) registers []
# feedback: MyLinear.weight is not a registered Parameter
# cause: not-registered
class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = torch.randn(in_units, units, requires_grad=True)
        self.bias = torch.randn(units, requires_grad=True)

    def forward(self, X):
        return F.relu(X @ self.weight + self.bias)

    def _apply(self, fn, recurse=True):
        self.weight = fn(self.weight).detach().requires_grad_()
        self.bias = fn(self.bias).detach().requires_grad_()
        return super()._apply(fn, recurse)
