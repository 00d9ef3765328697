# mistake: Parallel concatenates along dim=1 whatever it was given
# expect: Parallel=1
# feedback: Concatenate along the `dim` given to the constructor
class Parallel(nn.Module):
    def __init__(self, net1, net2, dim=-1):
        super().__init__()
        self.net1 = net1
        self.net2 = net2

    def forward(self, X):
        return torch.cat((self.net1(X), self.net2(X)), dim=1)
