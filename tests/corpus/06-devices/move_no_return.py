# mistake: move_model forgets to return the model
# expect: move_model=3
# feedback: returned None: return the model it moved
# cause: no-return
def move_model(net, device):
    net.to(device)
