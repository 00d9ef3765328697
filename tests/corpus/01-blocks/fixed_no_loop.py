# mistake: forward leaves out the halving loop
# expect: FixedHiddenMLP=2
# feedback: skips the loop
# cause: skips-loop
class FixedHiddenMLP(nn.Module):
    def __init__(self, in_features=20):
        super().__init__()
        self.register_buffer("rand_weight", torch.rand(in_features, in_features))
        self.linear = nn.Linear(in_features, in_features)

    def forward(self, X):
        X = self.linear(X)
        X = F.relu(X @ self.rand_weight + 1)
        X = self.linear(X)
        return X.sum()
