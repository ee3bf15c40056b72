import bcrypt from 'bcrypt';

export interface User {
  id: number;
  email: string;
  name: string;
  createdAt: string;
}

interface StoredUser extends User {
  passwordHash: string;
}

const SALT_ROUNDS = Number(process.env.BCRYPT_ROUNDS ?? 10);

/** An in-memory user store: enough to exercise bcrypt without a database. */
export class UserStore {
  private users: StoredUser[] = [];
  private nextId = 1;

  async create(email: string, name: string, password: string): Promise<User> {
    if (this.users.some((u) => u.email === email)) {
      throw new Error('email already registered');
    }
    const passwordHash = await bcrypt.hash(password, SALT_ROUNDS);
    const user: StoredUser = {
      id: this.nextId++,
      email,
      name,
      createdAt: new Date().toISOString(),
      passwordHash,
    };
    this.users.push(user);
    return UserStore.publicView(user);
  }

  list(): User[] {
    return this.users.map(UserStore.publicView);
  }

  async verify(email: string, password: string): Promise<User | null> {
    const user = this.users.find((u) => u.email === email);
    if (!user) return null;
    return (await bcrypt.compare(password, user.passwordHash)) ? UserStore.publicView(user) : null;
  }

  private static publicView(user: StoredUser): User {
    const { passwordHash: _hidden, ...rest } = user;
    void _hidden;
    return rest;
  }
}

/** Proves the compiled addon loads and works: hash and check a throwaway value. */
export function bcryptSelfTest(): boolean {
  try {
    const hash = bcrypt.hashSync('self-test', 4);
    return bcrypt.compareSync('self-test', hash);
  } catch {
    return false;
  }
}
