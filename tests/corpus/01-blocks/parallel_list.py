# mistake: Parallel keeps its two networks in a plain list
# expect: Parallel=2
# feedback: should keep the two networks as .net1 and .net2
class Parallel(nn.Module):
    def __init__(self, net1, net2, dim=-1):
        super().__init__()
        self.nets = [net1, net2]
        self.dim = dim

    def forward(self, X):
        return torch.cat([net(X) for net in self.nets], dim=self.dim)
