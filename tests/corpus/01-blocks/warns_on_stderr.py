# mistake: none: warnings and stderr output at import and in forward never fail a test
# expect: full
import sys
import warnings

warnings.warn("this module is a draft", UserWarning)
warnings.warn("old style", DeprecationWarning)
print("loading blocks", file=sys.stderr)


class MLP(nn.Module):
    def __init__(self, in_features=20, hidden=256, out_features=10):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, out_features)

    def forward(self, X):
        warnings.warn("forward called", RuntimeWarning)
        print("forward", tuple(X.shape), file=sys.stderr)
        return self.out(F.relu(self.hidden(X)))
