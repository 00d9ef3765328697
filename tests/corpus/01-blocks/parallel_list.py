# mistake: Parallel keeps its two networks in a plain list
# expect: Parallel=1.5
# (the networks in the list are not moved by .to(device): the cuda:0 half of forward fails, on the stand-in GPU too)
# feedback: should keep the two networks as .net1 and .net2
class Parallel(nn.Module):
    def __init__(self, net1, net2, dim=-1):
        super().__init__()
        self.nets = [net1, net2]
        self.dim = dim

    def forward(self, X):
        return torch.cat([net(X) for net in self.nets], dim=self.dim)
