"""The seed report's model classes exactly as printed (../shared/seed/), the
classes users load anbn checkpoints into.  The report prints SimpleRNN's
initHidden as a separate block (a notebook cell); it is attached below as the
notebook does.  SimpleGRU is written the same way (module self.gru)."""
import torch
import torch.nn as nn
from torch.autograd import Variable


class SimpleRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size, num_layers=1):
        super(SimpleRNN, self).__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.rnn = nn.RNN(hidden_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim = 1)

    def forward(self, input, hidden):
        x = self.embedding(input)
        output, hidden = self.rnn(x, hidden)
        output = output[:, -1, :]
        output = self.fc(output)
        output = self.softmax(output)
        return output, hidden


def initHidden(self):
    hidden = Variable(torch.zeros(self.num_layers, 1, self.hidden_size))
    return hidden


SimpleRNN.initHidden = initHidden


class SimpleLSTM(nn.Module):
    def __init__(self, input_size, hidden_size, output_size, num_layers=1):
        super(SimpleLSTM, self).__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.lstm = nn.LSTM(hidden_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim = 1)

    def forward(self, input, hidden):
        x = self.embedding(input)
        output, hidden = self.lstm(x, hidden)
        output = output[:, -1, :]
        output = self.fc(output)
        output = self.softmax(output)
        return output, hidden

    def initHidden(self):
        hidden = Variable(torch.zeros(self.num_layers, 1, self.hidden_size))
        cell = Variable(torch.zeros(self.num_layers, 1, self.hidden_size))
        return (hidden, cell)


class SimpleGRU(nn.Module):
    def __init__(self, input_size, hidden_size, output_size, num_layers=1):
        super(SimpleGRU, self).__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim = 1)

    def forward(self, input, hidden):
        x = self.embedding(input)
        output, hidden = self.gru(x, hidden)
        output = output[:, -1, :]
        output = self.fc(output)
        output = self.softmax(output)
        return output, hidden

    def initHidden(self):
        hidden = Variable(torch.zeros(self.num_layers, 1, self.hidden_size))
        return hidden


CLASSES = {"rnn": SimpleRNN, "lstm": SimpleLSTM, "gru": SimpleGRU}
