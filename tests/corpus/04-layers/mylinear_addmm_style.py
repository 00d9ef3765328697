# mistake: none: torch.addmm and torch.clamp
# expect: full
class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn((in_units, units)))
        self.bias = nn.Parameter(torch.randn((units,)))

    def forward(self, X):
        return torch.clamp(torch.addmm(self.bias, X, self.weight), min=0)
