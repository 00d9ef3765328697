# mistake: rand_weight kept as a plain tensor attribute (the book's first version)
# expect: FixedHiddenMLP=2
# (.to(device) leaves rand_weight on the CPU: the cuda:0 half of forward fails, on the stand-in GPU too)
# feedback: plain tensor attribute
class FixedHiddenMLP(nn.Module):
    def __init__(self, in_features=20):
        super().__init__()
        self.rand_weight = torch.rand((in_features, in_features), requires_grad=False)
        self.linear = nn.Linear(in_features, in_features)

    def forward(self, X):
        X = self.linear(X)
        X = F.relu(torch.mm(X, self.rand_weight) + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X /= 2
        return X.sum()
