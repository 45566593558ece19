import Testing
@testable import TensorCore

@Test func copyOnWriteKeepsCopiesIndependent() {
    var a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
    let b = a
    a[flat: 0] = 10
    #expect(a[flat: 0] == 10)
    #expect(b[flat: 0] == 1)
    #expect(a.reshaped([3, 2]).shape == [3, 2])
}
